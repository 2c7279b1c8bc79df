"""The benchmark: a borough's ten years of data, and each figure measured against its floor."""
