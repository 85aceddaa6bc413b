// LatheData
