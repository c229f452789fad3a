import SpikifyCore

/// Called by the forward pass at every activation site with that site's values, which it may rewrite in place.
///
/// The float ANN passes no hook; the QANN passes a quantizer (``ActivationQuantizer``); calibration passes a
/// recorder. One forward serves all three, so the QANN is the ANN graph with quantizers and nothing else.
public typealias SiteHook = (Site, UnsafeMutableBufferPointer<Float>) -> Void
