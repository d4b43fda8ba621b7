"""Built-in network architectures; each module exposes ``build(num_outputs, in_chans, input_size, **options)``."""
