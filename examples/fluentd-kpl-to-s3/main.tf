# Apache (access_log) -> td-agent (apache2 parser, kinesis_streams_aggregated) -> Kinesis (KPL
# aggregates) -> consumer Lambda -> S3 (gzip JSON lines by event hour); failures parked in SQS.

module "kinesis_kpl" {
  source = "../../modules/kinesis-kpl"

  name      = var.name
  image_uri = var.image_uris["kinesis_kpl"]
  prefix    = "apache/"
  # An example stack: let destroy remove the delivered objects too.
  force_destroy = true
}

# --- The producer: an instance profile for the web servers running td-agent ---

data "aws_iam_policy_document" "producer_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "producer" {
  name_prefix        = "${substr(var.name, 0, 30)}-producer-"
  description        = "Web servers shipping Apache access logs to the Kinesis stream ${module.kinesis_kpl.stream_name}."
  assume_role_policy = data.aws_iam_policy_document.producer_assume.json
}

resource "aws_iam_role_policy_attachment" "producer" {
  role       = aws_iam_role.producer.name
  policy_arn = module.kinesis_kpl.producer_policy_arn
}

resource "aws_iam_instance_profile" "producer" {
  name_prefix = "${substr(var.name, 0, 30)}-producer-"
  role        = aws_iam_role.producer.name
}

locals {
  td_agent_conf = templatefile("${path.module}/td-agent.conf.tftpl", {
    region           = module.kinesis_kpl.region
    stream_name      = module.kinesis_kpl.stream_name
    access_log_path  = var.access_log_path
    tag              = var.fluentd_tag
    instance_profile = aws_iam_instance_profile.producer.name
  })
}
