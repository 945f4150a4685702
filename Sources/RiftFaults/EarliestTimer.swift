import NIOCore

/// One scheduled wake-up on a handler's event loop, kept at the earliest deadline asked for:
/// arming for a deadline no earlier than the pending one does nothing, an earlier one replaces
/// it. Timed stages hold one to release what they hold when it falls due.
struct EarliestTimer {
    private var task: Scheduled<Void>?
    private var deadline: NIODeadline?

    mutating func arm(at deadline: NIODeadline, on eventLoop: EventLoop, _ fire: @escaping () -> Void) {
        if let current = self.deadline, current <= deadline { return }
        task?.cancel()
        self.deadline = deadline
        task = eventLoop.assumeIsolated().scheduleTask(deadline: deadline, fire)
    }

    /// Call first thing when the wake-up fires: nothing is pending any more.
    mutating func fired() {
        task = nil
        deadline = nil
    }

    mutating func cancel() {
        task?.cancel()
        fired()
    }
}
