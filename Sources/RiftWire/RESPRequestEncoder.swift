import NIOCore

/// Writes Redis commands the way every client sends them: an array of bulk strings. The one
/// RESP request encoder in Rift (clients, the harness's workloads, tests), so any command it
/// writes is one `RESPParser(role: .request)` reads back as the same arguments.
public enum RESPRequestEncoder {
    /// Appends `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument.
    public static func encode<Argument: Collection<UInt8>>(_ arguments: some Collection<Argument>, into buffer: inout ByteBuffer) {
        header(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            header(UInt8(ascii: "$"), argument.count, into: &buffer)
            buffer.writeBytes(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Text arguments (keys and values of the workloads), written as their UTF-8 bytes.
    /// Built as one string and written once: the workloads' hot path, and one buffer write
    /// per request costs far less than one per token when NIO is not optimized (debug builds).
    public static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        var text = "*\(arguments.count)\r\n"
        for argument in arguments {
            text += "$\(argument.utf8.count)\r\n"
            text += argument
            text += "\r\n"
        }
        buffer.writeString(text)
    }

    /// One command as bytes.
    public static func bytes(_ arguments: [String]) -> [UInt8] {
        var buffer = ByteBuffer()
        encode(arguments, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    private static func header(_ type: UInt8, _ count: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        buffer.writeString(String(count))
        buffer.writeStaticString("\r\n")
    }
}
