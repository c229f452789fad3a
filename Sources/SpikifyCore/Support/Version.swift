/// The toolkit's version, written into converted models and reports.
public enum SpikifyVersion {
    public static let string = "0.2.0"
}
