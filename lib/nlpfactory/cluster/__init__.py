"""Running stages on a Kubernetes cluster (the Kubeflow Training Operator)."""
