import SpikifyCore

extension ViTForward {
    /// Throws when `logits` (computed from `images`) hold NaN or infinity, naming the first activation site where
    /// non-finite values appear (found by running the batch again with a hook that looks at every site), so that
    /// weights of ±1e38 or a normalisation of `inf` are an error that points at the layer, not NaN logits.
    public func checkFinite(_ logits: Tensor, images: Tensor, network: String, file: String) throws {
        guard logits.scalars.contains(where: { !$0.isFinite }) else { return }
        final class FirstSite: @unchecked Sendable { var site: Site? }
        let first = FirstSite()
        _ = self.logits(images) { site, values in
            if first.site == nil, values.contains(where: { !$0.isFinite }) { first.site = site }
        }
        let inputBad = images.scalars.contains { !$0.isFinite }
        let place = inputBad ? "in the normalised input images (check --mean/--std and the data)"
            : first.site.map { "first at site '\($0.name)'" } ?? "in the classifier head"
        throw SpikifyError.invalidData(file: file, message: "the \(network) produces non-finite logits (NaN or infinity), "
            + "\(place)")
    }
}
