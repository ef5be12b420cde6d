# NFS (TCP 2049) from the function's security group to the file system's, and nothing else: the
# function calls no AWS API (metrics go out as log lines), so it needs no other egress.

resource "aws_security_group" "lambda" {
  name        = "${var.name}-lambda"
  description = "Archiver function ${var.name}: NFS to its EFS file system only."
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-lambda" })
}

resource "aws_security_group" "efs" {
  count = local.create_file_system ? 1 : 0

  name        = "${var.name}-efs"
  description = "EFS mount targets of ${var.name}: NFS from the archiver function only."
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-efs" })
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_efs" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "NFS to the archive file system."
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = local.efs_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_lambda" {
  security_group_id            = local.efs_security_group_id
  description                  = "NFS from the archiver function ${var.name}."
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.lambda.id
}
