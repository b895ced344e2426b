"""EvalSuite datasets on PersistentVolumeClaims: the loader Job's process and its names."""
