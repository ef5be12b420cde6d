# Receiving side of cross-account delivery: a CloudWatch Logs destination in front of the stream,
# which the listed accounts may subscribe their log groups to (destination_type = "destination"
# in their own use of this module).

resource "aws_cloudwatch_log_destination" "this" {
  count = length(var.cross_account_sender_ids) > 0 ? 1 : 0

  name       = var.name
  role_arn   = aws_iam_role.logs[0].arn
  target_arn = var.destination_arn
  tags       = var.tags

  depends_on = [aws_iam_role_policy.logs]
}

data "aws_iam_policy_document" "destination" {
  count = length(var.cross_account_sender_ids) > 0 ? 1 : 0

  statement {
    sid       = "SubscribeFromTheseAccounts"
    actions   = ["logs:PutSubscriptionFilter"]
    resources = [aws_cloudwatch_log_destination.this[0].arn]

    principals {
      type        = "AWS"
      identifiers = var.cross_account_sender_ids
    }
  }
}

resource "aws_cloudwatch_log_destination_policy" "this" {
  count = length(var.cross_account_sender_ids) > 0 ? 1 : 0

  destination_name = aws_cloudwatch_log_destination.this[0].name
  access_policy    = data.aws_iam_policy_document.destination[0].json
}
