package encoding

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gopcua/opcua/ua"

	"github.com/edgeframe/edgeframe/pkg/jsonenc"
)

// TypeMetaData is the network message type of a DataSetMetaData announcement.
const TypeMetaData = "ua-metadata"

// FieldMetaData describes one field of a data set (Part 14 FieldMetaData): its name,
// built-in type (0 while no value has been seen) and value rank (-1 scalar, 1 array).
type FieldMetaData struct {
	Name        string
	BuiltInType ua.TypeID
	ValueRank   int32
}

// DataSetMetaData is a writer's metadata (Part 14 DataSetMetaDataType): the fields in
// payload order and the ConfigurationVersion that data set messages carry as their
// MetaDataVersion.
type DataSetMetaData struct {
	WriterID             string
	WriterIndex          uint16
	Name                 string
	Fields               []FieldMetaData
	ConfigurationVersion MetaDataVersion
}

// fieldType is what a value tells about its field's type.
type fieldType struct {
	builtIn ua.TypeID
	rank    int32
}

// builtInNames are the OPC UA built-in type names (OPC 10000-6 5.1.2), by id.
var builtInNames = [...]string{"BaseDataType", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64",
	"UInt64", "Float", "Double", "String", "DateTime", "Guid", "ByteString", "XmlElement", "NodeId", "ExpandedNodeId",
	"StatusCode", "QualifiedName", "LocalizedText", "Structure", "DataValue", "BaseDataType", "DiagnosticInfo"}

// DataTypeName is the name of a built-in type's data type (BaseDataType for Null and
// Variant, Structure for ExtensionObject).
func DataTypeName(t ua.TypeID) string {
	if int(t) < len(builtInNames) {
		return builtInNames[t]
	}
	return "BaseDataType"
}

// dataTypeID is the numeric node id (ns=0) of a built-in type's data type.
func dataTypeID(t ua.TypeID) uint32 {
	switch t {
	case ua.TypeIDNull, ua.TypeIDVariant:
		return 24 // BaseDataType
	case ua.TypeIDExtensionObject:
		return 22 // Structure
	}
	return uint32(t)
}

// EncodeMetaData returns the ua-metadata network message announcing md (Part 14
// 7.2.5.5 / OPC Publisher): MessageId, MessageType, PublisherId, DataSetWriterId (the
// configured string; strict mode the UInt16 with DataSetWriterName), the writer group,
// and MetaData {Name, Fields [{Name, FieldFlags, BuiltInType, DataType, ValueRank}],
// ConfigurationVersion {MajorVersion, MinorVersion}}.
func (o Options) EncodeMetaData(messageID, group string, md DataSetMetaData) ([]byte, error) {
	b := o.appendHeader(make([]byte, 0, 256+96*len(md.Fields)), messageID, TypeMetaData, group)
	b = append(b, `,"DataSetWriterId":`...)
	b = o.appendWriterID(b, md.WriterIndex, md.WriterID)
	b = append(b, `,"MetaData":{"Name":`...)
	b = jsonenc.AppendString(b, md.Name)
	b = append(b, `,"Fields":[`...)
	for i, f := range md.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = jsonenc.AppendString(b, f.Name)
		b = append(b, `,"FieldFlags":0,"BuiltInType":`...)
		b = strconv.AppendUint(b, uint64(f.BuiltInType), 10)
		b = append(b, `,"DataType":"i=`...)
		b = strconv.AppendUint(b, uint64(dataTypeID(f.BuiltInType)), 10)
		b = append(b, `","DataTypeName":`...)
		b = jsonenc.AppendString(b, DataTypeName(f.BuiltInType))
		b = append(b, `,"ValueRank":`...)
		b = strconv.AppendInt(b, int64(f.ValueRank), 10)
		b = append(b, '}')
	}
	b = append(b, `],"ConfigurationVersion":{"MajorVersion":`...)
	b = strconv.AppendUint(b, uint64(md.ConfigurationVersion.MajorVersion), 10)
	b = append(b, `,"MinorVersion":`...)
	b = strconv.AppendUint(b, uint64(md.ConfigurationVersion.MinorVersion), 10)
	b = append(b, "}}}"...)
	if !json.Valid(b) {
		return nil, fmt.Errorf("encoding: metadata message %s: produced invalid JSON", messageID)
	}
	return b, nil
}
