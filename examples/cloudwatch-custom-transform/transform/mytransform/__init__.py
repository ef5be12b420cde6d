"""An example custom transform for logpipes' firehose_transform: logfmt lines to typed columns.

build.py --extra-package examples/cloudwatch-custom-transform/transform/mytransform puts this package
next to logpipes in the function's image; the module's transform_function names the function.
"""
