// The generator lives in LatheIO, beneath every module that draws random numbers; re-exported
// here so code that imports only LatheTensor (kernels, the model) sees it too.
@_exported import struct LatheIO.SplitMix64
