/** ONNX model writing: a small graph builder over an embedded subset of onnx.proto. */
export {
  littleEndianBytes,
  OnnxGraphBuilder,
  OnnxGraphError,
  type AttributeValue,
  type Dim,
  type ModelBytesOptions,
  type NodeOptions,
  type OnnxDataType,
  type OnnxTensor,
} from './graph.js';
export { decodeModelProto, type ModelProtoJson } from './schema.js';
