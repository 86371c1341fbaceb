// The Datasets module: lazy, seeded, resumable input pipelines. See Dataset.swift.
