"""Loss mathematics in plain torch: importable without mmcv or mmdet."""
