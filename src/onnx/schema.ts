/**
 * The subset of the ONNX protobuf schema (onnx.proto, IR version 8+) that our
 * graph writer needs, embedded as text so that `tsc` output is self-contained.
 *
 * Field numbers follow the public onnx.proto. The file is proto2, like the
 * original, so repeated scalars are written unpacked, exactly as the reference
 * `onnx` Python package writes them. Names keep their snake_case spelling
 * (`keepCase`), so decoded objects read like the ONNX documentation.
 */
import protobuf from 'protobufjs';

const ONNX_SUBSET_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
    SPARSE_TENSOR = 11; SPARSE_TENSORS = 12; TYPE_PROTO = 13; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}
`;

const root = protobuf.parse(ONNX_SUBSET_PROTO, { keepCase: true }).root;

/** protobufjs message types for the ONNX messages we write (and decode in tests / debugging). */
export const onnxProto = {
  ModelProto: root.lookupType('onnx.ModelProto'),
  GraphProto: root.lookupType('onnx.GraphProto'),
  NodeProto: root.lookupType('onnx.NodeProto'),
  AttributeProto: root.lookupType('onnx.AttributeProto'),
  TensorProto: root.lookupType('onnx.TensorProto'),
  ValueInfoProto: root.lookupType('onnx.ValueInfoProto'),
} as const;

/** TensorProto.DataType values (onnx.proto). */
export const ONNX_DATA_TYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;

/** AttributeProto.AttributeType values (onnx.proto). */
export const ONNX_ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

// ---- plain-object shapes of the messages (snake_case, as encoded / decoded) ----

export interface TensorProtoJson {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  /** location / offset / length of data stored in a file beside the model (data_location 1). */
  external_data?: { key: string; value: string }[];
  data_location?: number;
}
export interface DimensionJson { dim_value?: number; dim_param?: string }
export interface TypeProtoJson { tensor_type?: { elem_type?: number; shape?: { dim?: DimensionJson[] } } }
export interface ValueInfoProtoJson { name?: string; type?: TypeProtoJson }
export interface AttributeProtoJson {
  name?: string; type?: number; f?: number; i?: number; s?: Uint8Array; t?: TensorProtoJson;
  floats?: number[]; ints?: number[]; strings?: Uint8Array[];
}
export interface NodeProtoJson {
  input?: string[]; output?: string[]; name?: string; op_type?: string; domain?: string; attribute?: AttributeProtoJson[];
}
export interface GraphProtoJson {
  name?: string; node?: NodeProtoJson[]; initializer?: TensorProtoJson[];
  input?: ValueInfoProtoJson[]; output?: ValueInfoProtoJson[]; value_info?: ValueInfoProtoJson[];
}
export interface ModelProtoJson {
  ir_version?: number; opset_import?: { domain?: string; version?: number }[];
  producer_name?: string; producer_version?: string; graph?: GraphProtoJson;
  metadata_props?: { key?: string; value?: string }[];
}

/** Serialises a ModelProto given as a plain object. */
export function encodeModelProto(model: ModelProtoJson): Uint8Array {
  return onnxProto.ModelProto.encode(model).finish();
}

/**
 * Parses ModelProto bytes into a plain object (int64 as JS numbers, bytes as
 * Uint8Array). Fields outside our schema subset are skipped, so this also reads
 * models written by other tools, as far as the subset goes.
 */
export function decodeModelProto(bytes: Uint8Array): ModelProtoJson {
  const message = onnxProto.ModelProto.decode(bytes);
  return onnxProto.ModelProto.toObject(message, { longs: Number, enums: Number, arrays: true, oneofs: false }) as ModelProtoJson;
}
