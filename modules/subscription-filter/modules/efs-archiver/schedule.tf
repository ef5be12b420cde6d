# A schedule that seals the days of every log group, also of those that receive no more events.

resource "aws_cloudwatch_event_rule" "seal" {
  count = var.seal_schedule_expression == null ? 0 : 1

  name                = "${var.name}-seal"
  description         = "Seal the archive days that are over (logpipes ${var.name})."
  schedule_expression = var.seal_schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "seal" {
  count = var.seal_schedule_expression == null ? 0 : 1

  rule = aws_cloudwatch_event_rule.seal[0].name
  arn  = module.function.function_arn
}

resource "aws_lambda_permission" "seal" {
  count = var.seal_schedule_expression == null ? 0 : 1

  statement_id  = "seal-schedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.seal[0].arn
}
