# What the archiver needs besides what module.function gives it (its role, its own log group and
# the VPC network interfaces Lambda manages for it): the file system through the access point,
# and the failure queue (Lambda sends parked payloads with the function's role).

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "MountTheArchive"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [local.file_system_arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.this.arn]
    }
  }

  statement {
    sid       = "ParkFailedPayloads"
    actions   = ["sqs:SendMessage"]
    resources = [module.failures.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseTheKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
      # Only through SQS: the failure queue Lambda sends to with this role (module.function
      # grants the decryption of the function's environment).
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}
