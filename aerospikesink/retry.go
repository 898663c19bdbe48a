package aerospikesink

import (
	"errors"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
)

// retryable reports the result codes worth another try: the server or the network was
// momentarily unable, not the record wrong. RECORD_TOO_BIG, PARAMETER_ERROR,
// BIN_NAME_TOO_LONG and every other code fail at once.
func retryable(code types.ResultCode) bool {
	switch code {
	case types.TIMEOUT, types.DEVICE_OVERLOAD, types.KEY_BUSY, types.SERVER_NOT_AVAILABLE,
		types.NETWORK_ERROR, types.NO_RESPONSE, types.INVALID_NODE_ERROR,
		types.NO_AVAILABLE_CONNECTIONS_TO_NODE, types.MAX_RETRIES_EXCEEDED,
		types.PARTITION_UNAVAILABLE, types.MAX_ERROR_RATE:
		return true
	}
	return false
}

// codeOf is the result code of a client error; an error from below the client (a
// socket) counts as NETWORK_ERROR.
func codeOf(err error) types.ResultCode {
	var ae *as.AerospikeError
	if errors.As(err, &ae) {
		return ae.ResultCode
	}
	return types.NETWORK_ERROR
}
