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
// The client reports a command that failed on its only try as MAX_RETRIES_EXCEEDED
// wrapping the cause: the cause's named code is the one reported and classified.
func codeOf(err error) types.ResultCode {
	var ae *as.AerospikeError
	if !errors.As(err, &ae) {
		return types.NETWORK_ERROR
	}
	if ae.ResultCode == types.MAX_RETRIES_EXCEEDED || ae.ResultCode == types.BATCH_FAILED {
		var ce as.Error
		if errors.As(err, &ce) {
			for _, code := range namedCauses {
				if ce.Matches(code) {
					return code
				}
			}
		}
	}
	return ae.ResultCode
}

// namedCauses are the codes codeOf looks for under a wrapping one.
var namedCauses = []types.ResultCode{types.TIMEOUT, types.DEVICE_OVERLOAD, types.KEY_BUSY, types.SERVER_NOT_AVAILABLE,
	types.NETWORK_ERROR, types.RECORD_TOO_BIG, types.PARAMETER_ERROR, types.BIN_NAME_TOO_LONG}
