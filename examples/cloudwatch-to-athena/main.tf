# CloudWatch Logs -> subscription filter -> Firehose (+ transform Lambda) -> S3 (gzip, by day) -> Athena.

resource "aws_cloudwatch_log_group" "app" {
  # checkov:skip=CKV_AWS_158:The example uses the CloudWatch Logs default encryption; pass a KMS key in production.
  # A year, as for any log group that may be evidence (checkov CKV_AWS_338); storage is the only idle cost.
  name              = "/logpipes/${var.name}/access"
  retention_in_days = 365
}

module "firehose" {
  source = "../../modules/firehose-transform"

  name          = var.name
  image_uri     = var.image_uris["firehose_transform"]
  output_format = var.output_format
  columns       = var.columns
  message_regex = var.message_regex
  on_unparsed   = var.on_unparsed
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
