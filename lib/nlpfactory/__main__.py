import sys

from nlpfactory.pipelines.cli import main

sys.exit(main())
