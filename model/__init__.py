"""QKeras side: LIF neuron, ReScaW quantizer, model builder, data, training, deploy form, golden."""
