// Copyright 2026 edgeframe authors. Added to the opcua authors' code; same MIT license.

package uacp

import (
	"github.com/gopcua/opcua/errors"
	"github.com/gopcua/opcua/ua"
)

// MinBufSize is the smallest send or receive buffer OPC 10000-6 §7.1.2.3 allows.
const MinBufSize = 8192

// Hard caps on what a peer can make us accept when our own value is 0 ("no limit").
const (
	MaxReceiveBufSize = 1 << 20
	MaxMessageSizeCap = 4 * MB // the OPC Foundation .NET stack's default MaxMessageSize
	MaxChunkCountCap  = 4096
)

// The negotiation below is the edgeframe fork's. gopcua v0.9.1's client adopted the
// server's ACK wholesale, so a server announcing a 4 GiB ReceiveBufferSize made the
// client allocate 4 GiB for every chunk it read, and a server announcing no limits
// lifted the client's message size and chunk count limits. A Conn's Acknowledge holds
// the limits of what this side receives (ReceiveBufSize, MaxMessageSize,
// MaxChunkCount) and the chunk size it sends (SendBufSize).

// NegotiateServer returns the ACK a server with limits own answers hel with.
func NegotiateServer(own *Acknowledge, hel *Hello) (*Acknowledge, error) {
	if hel.ReceiveBufSize < MinBufSize || hel.SendBufSize < MinBufSize {
		return nil, errors.Errorf("%v: HEL buffer sizes receive %d send %d, minimum %d", ua.StatusBadTCPNotEnoughResources,
			hel.ReceiveBufSize, hel.SendBufSize, MinBufSize)
	}
	ack := *own
	ack.ReceiveBufSize = min(orDefault(own.ReceiveBufSize, DefaultReceiveBufSize), hel.SendBufSize, MaxReceiveBufSize)
	ack.SendBufSize = min(orDefault(own.SendBufSize, DefaultSendBufSize), hel.ReceiveBufSize)
	ack.MaxMessageSize = min(orDefault(own.MaxMessageSize, DefaultMaxMessageSize), orDefault(hel.MaxMessageSize, MaxMessageSizeCap), MaxMessageSizeCap)
	ack.MaxChunkCount = min(orDefault(own.MaxChunkCount, DefaultMaxChunkCount), orDefault(hel.MaxChunkCount, MaxChunkCountCap), MaxChunkCountCap)
	return &ack, nil
}

// negotiateClient returns the limits a client that sent own in its HEL applies after
// the server's ack: it receives chunks of at most its own ReceiveBufSize (the server
// may not send more) and messages within its own limits, capped when it set none.
func negotiateClient(own, ack *Acknowledge) (*Acknowledge, error) {
	if ack.ReceiveBufSize < MinBufSize || ack.SendBufSize < MinBufSize {
		return nil, errors.Errorf("%v: ACK buffer sizes receive %d send %d, minimum %d", ua.StatusBadTCPNotEnoughResources,
			ack.ReceiveBufSize, ack.SendBufSize, MinBufSize)
	}
	neg := *ack
	neg.ReceiveBufSize = min(orDefault(own.ReceiveBufSize, DefaultReceiveBufSize), MaxReceiveBufSize)
	neg.SendBufSize = min(orDefault(own.SendBufSize, DefaultSendBufSize), ack.ReceiveBufSize)
	neg.MaxMessageSize = min(orDefault(own.MaxMessageSize, orDefault(ack.MaxMessageSize, DefaultMaxMessageSize)), MaxMessageSizeCap)
	neg.MaxChunkCount = min(orDefault(own.MaxChunkCount, orDefault(ack.MaxChunkCount, DefaultMaxChunkCount)), MaxChunkCountCap)
	return &neg, nil
}

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}
