"""Line recognition helpers shared by training and inference: CTC decoding, line preparation."""
