"""Few-shot prompt learning: PET, P-Tuning and CP-Tuning on K labelled rows per class.

config (FewshotConfig) · sampler (K-shot draw, class-balanced batches) · pattern (prompted
token rows) · model (masked LM + prompt vectors) · pet (label-word scoring) · ptuning (prompt
encoder) · pccl + cptuning (contrastive loss, prototypes) · train (the stage: `fewshot`) ·
predict (predictors for the saved Model folders).
"""
