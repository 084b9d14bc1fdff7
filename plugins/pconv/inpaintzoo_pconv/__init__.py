"""Partial convolutions (Liu et al., ECCV 2018) as mmagic publishes them: PConv's U-Net and its checkpoints."""
