# CloudWatch Logs (logfmt lines) -> Firehose + the logpipes transform running YOUR transform
# (transform/mytransform, built into the image with build.py --extra-package) -> S3 -> Athena.

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_158:The example uses the CloudWatch Logs default encryption; pass a KMS key in production.
  # A year, as for any log group that may be evidence (checkov CKV_AWS_338); storage is the only idle cost.
  name              = "/logpipes/${var.name}/app"
  retention_in_days = 365
}

module "firehose" {
  source = "../../modules/firehose-transform"

  name               = var.name
  image_uri          = var.image_uris["firehose_transform"]
  output_format      = "custom"
  transform_function = "mytransform.logfmt:transform"
  # The keys the transform writes, in order: the function keeps and converts exactly these, and the
  # Glue table has exactly these columns. (source is not read with a custom transform.)
  columns = [
    { name = "ts", type = "timestamp", source = "timestamp" },
    { name = "level", type = "string", source = "message" },
    { name = "msg", type = "string", source = "message" },
    { name = "user_id", type = "bigint", source = "message" },
    { name = "duration_ms", type = "double", source = "message" },
    { name = "log_stream", type = "string", source = "logStream" },
  ]
  # An example stack: let destroy remove the delivered objects too.
  force_destroy = true
}

module "subscription" {
  source = "../../modules/subscription-filter"

  name             = "${var.name}-to-firehose"
  destination_type = "firehose"
  destination_arn  = module.firehose.delivery_stream_arn
  # The stream's own role: PutRecord/PutRecordBatch on this stream only.
  create_role = false
  role_arn    = module.firehose.cloudwatch_logs_role_arn
  log_groups  = { (aws_cloudwatch_log_group.app.name) = {} }
}
