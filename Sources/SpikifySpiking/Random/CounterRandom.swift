/// Counter-based random bits: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as
/// 1, 2, 3", SC 2011). The bits for (seed, sample, step, stream, element) are a pure function of those numbers, so
/// a stochastic operator gives every sample the same draws whatever its batch, its position in the batch, the order
/// of batches or the shard it runs in (docs/architecture.md, "Randomness").
///
/// Layout: key = the 64-bit seed; counter = (element / 4, step, sample, stream), where the stream is a 32-bit hash
/// of the operator's site; each Philox block gives four 32-bit words, element `e` takes word `e % 4`.
public enum CounterRandom {
    /// One Philox4x32-10 block for a 128-bit counter and a 64-bit key.
    @inline(__always)
    public static func philox(_ counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 { k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85 }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0), p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            (c0, c1, c2, c3) = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0, UInt32(truncatingIfNeeded: p1),
                                UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1, UInt32(truncatingIfNeeded: p0))
        }
        return (c0, c1, c2, c3)
    }

    /// 32 random bits for one element of one sample at one step of one operator.
    @inline(__always)
    public static func bits(seed: UInt64, sample: Int, step: Int, stream: UInt64, element: Int) -> UInt32 {
        let block = philox((UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: step),
                            UInt32(truncatingIfNeeded: sample), UInt32(truncatingIfNeeded: stream ^ (stream >> 32))),
                           key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        switch element & 3 {
        case 0: return block.0
        case 1: return block.1
        case 2: return block.2
        default: return block.3
        }
    }

    /// A uniform number in [0, 1) from 32 bits (24 significant bits, exactly representable in Float).
    @inline(__always)
    public static func unit(_ bits: UInt32) -> Float { Float(bits >> 8) * 0x1p-24 }

    /// A stable stream number for a name (64-bit FNV-1a over its UTF-8 bytes).
    public static func stream(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
