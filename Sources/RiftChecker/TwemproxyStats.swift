/// nutcracker's counters at the end of a twemproxy run, as its stats port gave them: whether it
/// ejected servers, and what each server was sent and failed. result.json holds them under
/// `twemproxy`, so a stale read can be set beside the ejections that caused it.
public struct TwemproxyStats: Sendable, Codable, Equatable {
    /// One server of the pool, by its name in nutcracker's config (the topology's node name).
    public struct Server: Sendable, Codable, Equatable {
        /// Requests forwarded to it, and responses it gave.
        public var requests = 0
        public var responses = 0
        /// Connections to it that failed (`server_err`: refused, reset), timed out
        /// (`server_timedout`, after the pool's `timeout`) or were closed by it (`server_eof`).
        public var errors = 0
        public var timeouts = 0
        public var eof = 0
        /// When it was last ejected, in microseconds since the epoch; nil when never.
        public var lastEjectedAtUs: Int64?

        public init(requests: Int = 0, responses: Int = 0, errors: Int = 0, timeouts: Int = 0, eof: Int = 0, lastEjectedAtUs: Int64? = nil) {
            self.requests = requests
            self.responses = responses
            self.errors = errors
            self.timeouts = timeouts
            self.eof = eof
            self.lastEjectedAtUs = lastEjectedAtUs
        }

        enum CodingKeys: String, CodingKey {
            case requests, responses, errors, timeouts, eof
            case lastEjectedAtUs = "last_ejected_at_us"
        }
    }

    /// The pool's name in nutcracker's config.
    public var pool: String
    /// Servers taken out of the ring (`server_ejects`), every ejection counted.
    public var ejections: Int
    /// Requests nutcracker could not forward (`forward_error`): the client got `SERVER_ERROR`.
    public var forwardErrors: Int
    /// Client connections that ended in an error (`client_err`).
    public var clientErrors: Int
    public var servers: [String: Server]

    public init(pool: String, ejections: Int = 0, forwardErrors: Int = 0, clientErrors: Int = 0, servers: [String: Server] = [:]) {
        self.pool = pool
        self.ejections = ejections
        self.forwardErrors = forwardErrors
        self.clientErrors = clientErrors
        self.servers = servers
    }

    enum CodingKeys: String, CodingKey {
        case pool, ejections, servers
        case forwardErrors = "forward_errors", clientErrors = "client_errors"
    }
}
