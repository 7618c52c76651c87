"""KFP v2 components: one file per stage, each a thin typed form over a library function."""
