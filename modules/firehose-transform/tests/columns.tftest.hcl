# output_format = "columns", "csv" and "custom": the function's environment and the Glue table both
# come from the columns variable. The cases are those of glue_columns.json, which
# tests/firehose_transform/test_glue_columns.py runs through the handler.
mock_provider "aws" {
  source = "../lambda-function/tests/mock_aws"

  mock_resource "aws_s3_bucket" {
    defaults = { id = "app-logs-bucket", arn = "arn:aws:s3:::app-logs-bucket" }
  }
}

variables {
  name      = "app-logs"
  image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/logpipes/firehose_transform:test"
  fixture   = jsondecode(file("tests/glue_columns.json")).configurations
}

run "columns_json_paths_keep_raw" {
  command = plan

  variables {
    output_format = var.fixture.columns_json_paths_keep_raw.variables.output_format
    columns       = var.fixture.columns_json_paths_keep_raw.variables.columns
  }

  assert {
    condition     = [for c in aws_glue_catalog_table.this[0].storage_descriptor[0].columns : { name = c.name, type = c.type }] == var.fixture.columns_json_paths_keep_raw.glue_columns
    error_message = "the Glue columns must be the configured ones, in order, then _raw"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].serialization_library == var.fixture.columns_json_paths_keep_raw.serde && aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].parameters["timestamp.formats"] == "yyyy-MM-dd HH:mm:ss.SSS"
    error_message = "columns are read with the OpenX JSON SerDe, timestamps as the function writes them"
  }
  assert {
    condition     = { for k, v in module.function[0].environment : k => v if contains(["OUTPUT_FORMAT", "ON_UNPARSED", "MESSAGE_REGEX", "TRANSFORM_FUNCTION"], k) } == var.fixture.columns_json_paths_keep_raw.environment
    error_message = "the function gets OUTPUT_FORMAT and ON_UNPARSED, and no MESSAGE_REGEX or TRANSFORM_FUNCTION"
  }
  assert {
    condition     = jsondecode(module.function[0].environment.COLUMNS) == var.fixture.columns_json_paths_keep_raw.variables.columns
    error_message = "COLUMNS must be the columns variable itself"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].parameters["classification"] == "json" && !contains(keys(aws_glue_catalog_table.this[0].parameters), "use.null.for.invalid.data")
    error_message = "a JSON lines table needs no csv properties"
  }
}

run "csv_apache_drop" {
  command = plan

  variables {
    output_format = var.fixture.csv_apache_drop.variables.output_format
    on_unparsed   = var.fixture.csv_apache_drop.variables.on_unparsed
    columns       = var.fixture.csv_apache_drop.variables.columns
  }

  assert {
    condition     = [for c in aws_glue_catalog_table.this[0].storage_descriptor[0].columns : { name = c.name, type = c.type }] == var.fixture.csv_apache_drop.glue_columns
    error_message = "csv: the configured columns, timestamps as strings, and no _raw when unparsed events are dropped"
  }
  assert {
    condition = aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].serialization_library == var.fixture.csv_apache_drop.serde && aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].parameters == tomap({
      separatorChar = ",", quoteChar = "\"", escapeChar = "\u0001"
    })
    error_message = "csv is read with the Open CSV SerDe, comma-separated, double-quoted, its escape character out of the way"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].parameters["use.null.for.invalid.data"] == "true" && aws_glue_catalog_table.this[0].parameters["classification"] == "csv"
    error_message = "an empty (NULL) csv field in a numeric column must read as NULL"
  }
  assert {
    condition     = { for k, v in module.function[0].environment : k => v if contains(["OUTPUT_FORMAT", "ON_UNPARSED", "MESSAGE_REGEX", "TRANSFORM_FUNCTION"], k) } == var.fixture.csv_apache_drop.environment
    error_message = "the function gets OUTPUT_FORMAT = csv and ON_UNPARSED = drop"
  }
}

run "csv_regex_keep_raw" {
  command = plan

  variables {
    output_format = var.fixture.csv_regex_keep_raw.variables.output_format
    message_regex = var.fixture.csv_regex_keep_raw.variables.message_regex
    columns       = var.fixture.csv_regex_keep_raw.variables.columns
  }

  assert {
    condition     = [for c in aws_glue_catalog_table.this[0].storage_descriptor[0].columns : { name = c.name, type = c.type }] == var.fixture.csv_regex_keep_raw.glue_columns
    error_message = "csv with keep_raw ends in _raw"
  }
  assert {
    condition     = { for k, v in module.function[0].environment : k => v if contains(["OUTPUT_FORMAT", "ON_UNPARSED", "MESSAGE_REGEX", "TRANSFORM_FUNCTION"], k) } == var.fixture.csv_regex_keep_raw.environment
    error_message = "the function gets the regex as MESSAGE_REGEX"
  }
}

run "custom_with_columns" {
  command = plan

  variables {
    output_format      = var.fixture.custom_with_columns.variables.output_format
    transform_function = var.fixture.custom_with_columns.variables.transform_function
    columns            = var.fixture.custom_with_columns.variables.columns
  }

  assert {
    condition     = [for c in aws_glue_catalog_table.this[0].storage_descriptor[0].columns : { name = c.name, type = c.type }] == var.fixture.custom_with_columns.glue_columns
    error_message = "custom: the Glue columns are the columns variable, with no _raw"
  }
  assert {
    condition     = aws_glue_catalog_table.this[0].storage_descriptor[0].ser_de_info[0].serialization_library == var.fixture.custom_with_columns.serde
    error_message = "a custom transform's dicts are JSON lines"
  }
  assert {
    condition     = { for k, v in module.function[0].environment : k => v if contains(["OUTPUT_FORMAT", "ON_UNPARSED", "MESSAGE_REGEX", "TRANSFORM_FUNCTION"], k) } == var.fixture.custom_with_columns.environment && jsondecode(module.function[0].environment.COLUMNS) == var.fixture.custom_with_columns.variables.columns
    error_message = "the function gets OUTPUT_FORMAT = custom, TRANSFORM_FUNCTION and COLUMNS"
  }
}

run "custom_without_columns_and_table" {
  command = plan

  variables {
    output_format      = "custom"
    transform_function = "mytransform.logfmt:transform"
    create_glue_table  = false
  }

  assert {
    condition     = length(aws_glue_catalog_table.this) == 0 && !contains(keys(module.function[0].environment), "COLUMNS")
    error_message = "a custom transform without columns has no Glue table and no COLUMNS"
  }
}

run "raw_output_sets_none_of_the_columns_settings" {
  command = plan

  assert {
    condition     = length(setintersection(keys(module.function[0].environment), ["COLUMNS", "ON_UNPARSED", "MESSAGE_REGEX", "TRANSFORM_FUNCTION"])) == 0
    error_message = "raw output must not get the columns settings"
  }
}

# --- Validation: each rule refuses at plan ---

run "custom_without_columns_needs_no_glue_table" {
  command = plan

  variables {
    output_format      = "custom"
    transform_function = "mytransform.logfmt:transform"
  }

  expect_failures = [var.create_glue_table]
}

run "custom_needs_a_transform_function" {
  command = plan

  variables {
    output_format     = "custom"
    create_glue_table = false
  }

  expect_failures = [var.transform_function]
}

run "transform_function_needs_custom" {
  command = plan

  variables {
    output_format      = "json"
    transform_function = "mytransform.logfmt:transform"
  }

  expect_failures = [var.transform_function]
}

run "transform_function_is_module_colon_function" {
  command = plan

  variables {
    output_format      = "custom"
    transform_function = "mytransform.logfmt.transform"
    create_glue_table  = false
  }

  expect_failures = [var.transform_function]
}

run "columns_output_needs_columns" {
  command = plan

  variables {
    output_format = "columns"
  }

  expect_failures = [var.columns]
}

run "csv_needs_columns" {
  command = plan

  variables {
    output_format = "csv"
  }

  expect_failures = [var.columns]
}

run "columns_need_a_columns_format" {
  command = plan

  variables {
    output_format = "json"
    columns       = [{ name = "level", type = "string", source = "$.level" }]
  }

  expect_failures = [var.columns]
}

run "column_names_are_glue_names" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "Level", type = "string", source = "$.level" }]
  }

  expect_failures = [var.columns]
}

run "raw_is_the_modules_column" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "_raw", type = "string", source = "message" }]
  }

  expect_failures = [var.columns]
}

run "column_names_are_unique" {
  command = plan

  variables {
    output_format = "columns"
    columns = [
      { name = "level", type = "string", source = "$.level" },
      { name = "level", type = "string", source = "$.severity" },
    ]
  }

  expect_failures = [var.columns]
}

run "column_types_are_the_supported_ones" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "level", type = "varchar", source = "$.level" }]
  }

  expect_failures = [var.columns]
}

run "source_json_path_without_brackets_for_a_space_is_refused" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "a", type = "string", source = "$.a b" }]
  }

  expect_failures = [var.columns]
}

run "source_json_path_needs_a_step_is_refused" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "a", type = "string", source = "$" }]
  }

  expect_failures = [var.columns]
}

run "source_apache_field_unknown_is_refused" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "a", type = "string", source = "apache.hostname" }]
  }

  expect_failures = [var.columns]
}

run "source_metadata_source_is_case_sensitive_is_refused" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "a", type = "string", source = "loggroup" }]
  }

  expect_failures = [var.columns]
}

run "source_regex_source_needs_a_group_name_is_refused" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [{ name = "a", type = "string", source = "regex." }]
  }

  expect_failures = [var.columns]
}

run "every_source_kind_is_accepted" {
  command = plan

  variables {
    output_format = "columns"
    message_regex = "(?P<level>[A-Z]+) .*"
    columns = [
      { name = "a", type = "string", source = "owner" },
      { name = "b", type = "string", source = "id" },
      { name = "c", type = "string", source = "message" },
      { name = "d", type = "string", source = "$.a-b._c[12][\"x \\\"y\\\"\"]" },
      { name = "e", type = "string", source = "apache.referer" },
      { name = "f", type = "string", source = "regex.level" },
    ]
  }

  assert {
    condition     = length(aws_glue_catalog_table.this[0].storage_descriptor[0].columns) == 7
    error_message = "six columns and _raw"
  }
}

run "columns_fit_the_lambda_environment" {
  command = plan

  variables {
    output_format = "columns"
    columns       = [for i in range(40) : { name = "column_with_a_long_name_${i}", type = "string", source = "$.a_rather_long_json_path.into_the_message_${i}" }]
  }

  expect_failures = [var.columns]
}

run "regex_sources_need_the_regex" {
  command = plan

  variables {
    output_format = "csv"
    columns       = [{ name = "level", type = "string", source = "regex.level" }]
  }

  expect_failures = [var.message_regex]
}

run "regex_sources_need_their_group" {
  command = plan

  variables {
    output_format = "csv"
    message_regex = "(?P<severity>[A-Z]+) .*"
    columns       = [{ name = "level", type = "string", source = "regex.level" }]
  }

  expect_failures = [var.message_regex]
}

run "message_regex_needs_a_columns_format" {
  command = plan

  variables {
    output_format = "json"
    message_regex = "(?P<level>[A-Z]+) .*"
  }

  expect_failures = [var.message_regex]
}

run "on_unparsed_is_keep_raw_or_drop" {
  command = plan

  variables {
    output_format = "csv"
    on_unparsed   = "ignore"
    columns       = [{ name = "level", type = "string", source = "$.level" }]
  }

  expect_failures = [var.on_unparsed]
}

run "native_cannot_write_columns" {
  command = plan

  variables {
    processor     = "native"
    image_uri     = null
    output_format = "csv"
    columns       = [{ name = "level", type = "string", source = "$.level" }]
  }

  expect_failures = [var.output_format]
}
