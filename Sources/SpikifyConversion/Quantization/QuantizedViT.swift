import SpikifyCore
import SpikifyModel
import SpikifySpiking

/// The quantized ANN (QANN): the ViT graph with an ``ActivationQuantizer`` at every SpikeZIP-TF site.
public struct QuantizedViT: Sendable {
    public let forward: ViTForward
    public let plan: QuantizationPlan

    public init(forward: ViTForward, plan: QuantizationPlan) {
        // Not reachable from input: checkpoint steps are read for every site, calibration makes every site, and a
        // converted file's plan is refused unless it has every site (SpikeZIPState.read).
        precondition(Set(plan.quantizers.keys) == Set(Site.all(depth: forward.config.depth)),
                     "a QANN needs a quantizer at every site")
        self.forward = forward
        self.plan = plan
    }

    public func logits(_ images: Tensor) -> Tensor { forward.logits(images, hook: plan.hook) }
}
