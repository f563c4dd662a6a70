package cloudevent

// Internals the external tests check against encoding/json and strconv.
var (
	ValidJSON = validJSON
	ParseInt  = parseInt[string]
)

// MaxDepth is encoding/json's nesting limit, which ValidJSON shares.
const MaxDepth = maxDepth
