"""nlpfactory studio: a local web page to compose pipelines from the component specs by
dragging and wiring, fill their forms, compile them with kfp, run them locally or on Kubeflow,
and watch each task's state and results. Everything here may import kfp; lib never does."""
