locals {
  # Objects the loader writes into the source bucket must never start an execution themselves.
  own_prefixes_in_source_bucket = [
    for location in [
      { bucket = local.work_bucket, prefix = var.work_prefix },
      { bucket = local.dead_letter_bucket, prefix = var.dead_letter_prefix },
    ] : location.prefix if location.bucket == var.source_bucket_name
  ]
}

resource "aws_s3_bucket_notification" "eventbridge" {
  count = var.s3_trigger.enabled && var.s3_trigger.manage_bucket_notification ? 1 : 0

  bucket      = var.source_bucket_name
  eventbridge = true
}

resource "aws_cloudwatch_event_rule" "object_created" {
  count = var.s3_trigger.enabled ? 1 : 0

  name        = "${var.name}-object-created"
  description = "Start ${var.name} for each object created under s3://${var.source_bucket_name}/${var.s3_trigger.prefix}"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = merge(
      { bucket = { name = [var.source_bucket_name] } },
      var.s3_trigger.prefix == "" ? {} : { object = { key = [{ prefix = var.s3_trigger.prefix }] } },
    )
  })
  tags = var.tags

  lifecycle {
    precondition {
      condition = alltrue([
        for prefix in local.own_prefixes_in_source_bucket :
        !startswith(prefix, var.s3_trigger.prefix) && !startswith(var.s3_trigger.prefix, prefix)
      ])
      error_message = "s3_trigger.prefix overlaps work_prefix or dead_letter_prefix in the source bucket: the loader's own objects would start executions. Narrow the prefix or use another work_bucket_name/dead_letter_bucket_name."
    }
  }
}

resource "aws_cloudwatch_event_target" "state_machine" {
  count = var.s3_trigger.enabled ? 1 : 0

  rule     = aws_cloudwatch_event_rule.object_created[0].name
  arn      = aws_sfn_state_machine.this.arn
  role_arn = aws_iam_role.events[0].arn
  # The execution input is the S3 "Object Created" event itself; the Plan step reads it.
}
