import Foundation
@testable import SpikifyReport

/// Reports for the tests, as JSON text in the format `spikify eval --report` writes.
enum Fixtures {
    /// A report in the format before the refactor: no reference, config, per-step or histogram fields.
    static let oldReport = """
    {"model": "models/vit-mnist-relu-qann16.h5", "method": "spikezip", "levels": 16, "samples": 2,
     "spikify_version": "0.4.0", "blas_core": "Haswell", "batch_size": 16,
     "ann": {"accuracy": 0.981, "seconds_per_image": 0.001},
     "qann": {"accuracy": 0.979, "agreement_with_ann": 0.99},
     "snn": {"timesteps": [1, 2, 3, 4], "until_quiet": true, "accuracy": [0.5, 0.9, 0.97, 0.979],
             "agreement_with_ann": [0.5, 0.9, 0.98, 0.99], "agreement_with_qann": [0.5, 0.91, 0.99, 1.0],
             "settle_steps": {"min": 2, "median": 3, "p99": 4, "max": 4, "mean": 3.1, "unsettled": 0},
             "max_abs_logit_difference_to_qann": 0, "seconds_per_image": 0.01, "mean_steps_run": 4},
     "sites": [{"site": "patch_embed", "neurons": 64, "spikes": 100, "firing_rate": 0.1, "spikes_per_image": 50},
               {"site": "blocks.0.q", "neurons": 20, "spikes": 40, "firing_rate": 0.2, "spikes_per_image": 20}],
     "synaptic_events": [{"layer": "patch_embed.proj.weight", "input_events": 4, "synaptic_operations": 16},
                         {"layer": "blocks.0.attn.q.weight", "input_events": 10, "synaptic_operations": 40},
                         {"layer": "head.weight", "input_events": 2, "synaptic_operations": 6}]}
    """

    /// The tiny ViT of the energy tests: 4×4 image, 2×2 patches (4 patches + class token = 5 tokens), width 4,
    /// 2 blocks, 2 heads, MLP width 8, 3 classes.
    static let tinyConfig = """
    {"image_size": 4, "patch_size": 2, "channels": 1, "embed_dim": 4, "depth": 2, "num_heads": 2, "mlp_dim": 8,
     "num_classes": 3, "class_token": true, "global_pool": "token", "activation": "relu", "layer_norm_eps": 1e-6,
     "mean": [0.5], "std": [0.5], "levels": 16}
    """

    /// The old report plus every field the refactor adds.
    static func newReport(model: String = "models/vit-tiny.h5", extraSite: String = "") -> String {
        """
        {"model": "\(model)", "method": "spikezip", "levels": 16, "samples": 2,
         "ann": {"accuracy": 0.981, "seconds_per_image": 0.001},
         "qann": {"accuracy": 0.979, "agreement_with_ann": 0.99},
         "reference": {"name": "qann", "description": "SpikeZIP-TF QANN, 16 levels", "accuracy": 0.979,
                       "agreement_with_ann": 0.99, "seconds_per_image": 0.002},
         "snn": {"timesteps": [1, 2, 3, 4], "until_quiet": true, "accuracy": [0.5, 0.9, 0.97, 0.979],
                 "agreement_with_ann": [0.5, 0.9, 0.98, 0.99], "agreement_with_qann": [0.5, 0.91, 0.99, 1.0],
                 "agreement_with_reference": [0.5, 0.91, 0.99, 1.0], "readout": "sum",
                 "spikes_per_step": [40, 20, 8, 0], "max_abs_logit_difference_to_reference": 0,
                 "settle_steps": {"min": 2, "median": 3, "p99": 4, "max": 4, "mean": 3.1, "unsettled": 0,
                                  "histogram": [0, 0, 1, 0, 1]},
                 "mean_steps_run": 4},
         "sites": [\(extraSite){"site": "blocks.0.q", "neurons": 20, "spikes": 40, "firing_rate": 0.2,
                    "spikes_per_image": 20, "events_per_step": [3, 0, 0, 0], "spikes_per_step": [3, 0, 0, 0], "max_spike_per_step": [1, 1, 0, 0]},
                   {"site": "blocks.0.k", "neurons": 20, "spikes": 20, "firing_rate": 0.1,
                    "spikes_per_image": 10, "events_per_step": [0, 2, 0, 0], "spikes_per_step": [0, 2, 0, 0], "max_spike_per_step": [1, 2, 0, 0]}],
         "synaptic_events": [{"layer": "blocks.0.attn.q.weight", "input_events": 10, "synaptic_operations": 40,
                              "fan_out": 4, "events_per_step": [6, 4, 0, 0]},
                             {"layer": "head.weight", "input_events": 2, "synaptic_operations": 6, "fan_out": 3},
                             {"layer": "custom.weight", "input_events": 1, "fan_out": 8}],
         "config": \(tinyConfig),
         "simulation": {"input_coding": "analog", "readout": "sum", "quiescence_is_final": true, "seed": 7},
         "dataset": "models/data/mnist-test.h5", "command": "spikify eval --model m.h5 --report r.json"}
        """
    }

    static func document(_ json: String) throws -> ReportDocument { try ReportDocument.decode(from: Data(json.utf8)) }
}
