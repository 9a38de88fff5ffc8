"""The pretrained MusiCNN (musicnn 0.1.0, MSD_musicnn) in torch, with no TensorFlow at run time.

``package`` finds the weights in the installed wheel, ``tf_checkpoint`` reads TensorFlow's
checkpoint format, ``mel`` makes the log-mel input, ``network`` is the ported model and
``embedder`` turns waves into 200-d features and 50 tag probabilities.
"""
