/// The harness: start a real cache fleet whose every link runs through a Rift proxy, drive a
/// recorded workload, carry out a scripted fault timeline, check the history.
public enum RiftHarness {}
