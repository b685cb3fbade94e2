"""Data: MNIST, the synthetic Japanese engine (charset, fonts, chars, lines, pages), shards."""
