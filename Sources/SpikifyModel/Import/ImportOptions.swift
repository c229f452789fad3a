import SpikifyCore

/// Configuration values that override what the file says (CLI flags beat file attributes beat defaults).
public struct ImportOptions: Sendable, Equatable {
    public var numHeads: Int?
    public var layerNormEps: Float?
    public var activation: Activation?
    public var globalPool: GlobalPool?
    public var mean: [Float]?
    public var std: [Float]?

    public init(
        numHeads: Int? = nil, layerNormEps: Float? = nil, activation: Activation? = nil, globalPool: GlobalPool? = nil,
        mean: [Float]? = nil, std: [Float]? = nil
    ) {
        self.numHeads = numHeads
        self.layerNormEps = layerNormEps
        self.activation = activation
        self.globalPool = globalPool
        self.mean = mean
        self.std = std
    }
}
