# An encrypted file system (unless an existing one is given), a mount target per subnet, and the
# access point the function mounts: a fixed POSIX identity and root directory.

resource "aws_efs_file_system" "this" {
  count = local.create_file_system ? 1 : 0

  creation_token   = var.name
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  # Sealed days are read rarely: move them to Infrequent Access after 30 days.
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_efs_backup_policy" "this" {
  count = local.create_file_system && var.enable_backup ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id

  backup_policy {
    status = "ENABLED"
  }
}

data "aws_iam_policy_document" "file_system" {
  count = local.create_file_system && var.enforce_encryption_in_transit ? 1 : 0

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.this[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "MountThroughTheAccessPointOnly"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.this[0].arn]

    principals {
      type        = "AWS"
      identifiers = [module.function.role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.this.arn]
    }
  }
}

resource "aws_efs_file_system_policy" "this" {
  count = local.create_file_system && var.enforce_encryption_in_transit ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id
  policy         = data.aws_iam_policy_document.file_system[0].json
}

resource "aws_efs_mount_target" "this" {
  for_each = local.create_file_system ? { for index, subnet_id in var.subnet_ids : tostring(index) => subnet_id } : {}

  file_system_id  = aws_efs_file_system.this[0].id
  subnet_id       = each.value
  security_groups = [aws_security_group.efs[0].id]
}

resource "aws_efs_access_point" "this" {
  file_system_id = local.file_system_id

  posix_user {
    uid = var.posix_user.uid
    gid = var.posix_user.gid
  }

  root_directory {
    path = var.root_directory

    creation_info {
      owner_uid   = var.posix_user.uid
      owner_gid   = var.posix_user.gid
      permissions = "0750"
    }
  }

  tags = merge(var.tags, { Name = var.name })
}
