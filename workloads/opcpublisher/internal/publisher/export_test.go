package publisher

// MessageID exposes messageID to the tests.
func (p *Publisher) MessageID(group string, seq int64) string { return p.messageID(group, seq) }
