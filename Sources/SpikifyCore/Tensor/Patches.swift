/// Patch extraction for the ViT patch embedding (`Conv2d` with kernel = stride = patch size).
package enum Patches {
    /// Rearranges images `[batch, channels, height, width]` into rows `[batch · patches, channels · p · p]`,
    /// patches in row-major grid order and each row ordered `(channel, dy, dx)` like the flattened conv weight
    /// `[embed, channels, p, p]`. Pixels beyond the last whole patch are dropped, as by the strided conv.
    package static func im2col(
        _ images: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int, patch p: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        let gh = height / p, gw = width / p
        let rowWidth = channels * p * p
        for b in 0..<batch {
            for py in 0..<gh {
                for px in 0..<gw {
                    let row = out + ((b * gh + py) * gw + px) * rowWidth
                    var o = 0
                    for c in 0..<channels {
                        let plane = images + (b * channels + c) * height * width
                        for dy in 0..<p {
                            let src = plane + (py * p + dy) * width + px * p
                            for dx in 0..<p { row[o] = src[dx]; o += 1 }
                        }
                    }
                }
            }
        }
    }
}
