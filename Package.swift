// swift-tools-version: 6.0
import PackageDescription

// Layers (a module never imports one to its right), as ../shared/DESIGN.md draws them:
//   CZlib CLibXML2 CBLAS CLatheKernels <- LatheIO <- LatheText, LatheDedupe, LatheData, LatheTokenizer
//                                   <- LatheTensor <- LatheModel <- LatheTrain, LatheEval
// Executables are thin ArgumentParser commands over one library each, sharing LatheCLI.
let stages = ["lathe-ingest", "lathe-dedupe", "lathe-format-sft", "lathe-pair-prefs", "lathe-train", "lathe-eval"]

// The library each stage is a thin command over.
let stageLibraries: [String: [Target.Dependency]] = [
    "lathe-ingest": ["LatheText"],
    "lathe-dedupe": ["LatheDedupe"],
    "lathe-format-sft": ["LatheData", "LatheTokenizer"],
    "lathe-pair-prefs": ["LatheData", "LatheTokenizer", "LatheEval", "LatheModel"],
    "lathe-train": ["LatheTrain", "LatheModel", "LatheTensor", "LatheTokenizer", "LatheData"],
    "lathe-eval": ["LatheEval", "LatheModel", "LatheTensor", "LatheData"],
]

// Release builds drop overflow and bounds checks in the hot loops; debug builds keep them,
// and the test suite runs in both.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "Lathe",
    products: [.executable(name: "lathe", targets: ["lathe"])]
        + stages.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // No pkgConfig: its -lopenblas would load OpenBLAS before LatheTensor picks its kernels (see BLAS.swift).
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),

        .target(name: "LatheIO", dependencies: ["CZlib"], swiftSettings: fast),
        // schemas/ is compiled in as EmbeddedSchemas.swift (scripts/embed-schemas.sh), not a resource
        // bundle: an installed binary cannot find a bundle that stayed under .build.
        .target(name: "LatheData", dependencies: ["LatheIO"], exclude: ["schemas"], swiftSettings: fast),
        .target(name: "LatheCLI", dependencies: ["LatheIO", argumentParser], swiftSettings: fast),
        .target(name: "LatheText", dependencies: ["LatheIO", "CLibXML2", "CZlib"], swiftSettings: fast),
        .target(name: "CDedupeKernels"),
        .target(name: "LatheDedupe", dependencies: ["LatheIO", "CDedupeKernels"], swiftSettings: fast),
        .target(name: "LatheTokenizer", dependencies: ["LatheIO"], swiftSettings: fast),
        // Vectorised row kernels (exp, reductions, bf16 rounding) for LatheTensor, cloned per ISA.
        .target(name: "CLatheKernels", cSettings: [.unsafeFlags(["-O3"], .when(configuration: .release))]),
        .target(name: "LatheTensor", dependencies: ["CBLAS", "CLatheKernels", "LatheIO"], swiftSettings: fast),
        .target(name: "LatheModel", dependencies: ["LatheTensor", "LatheIO"], swiftSettings: fast),
        .target(name: "LatheTrain", dependencies: ["LatheModel", "LatheTensor", "LatheTokenizer", "LatheData", "LatheIO"],
                swiftSettings: fast),
        // LatheTrain for SFT's record reading and assistant-token masking, which `loss` and `prefs` must share.
        .target(name: "LatheEval", dependencies: ["LatheTrain", "LatheModel", "LatheTensor", "LatheTokenizer", "LatheData", "LatheIO"],
                swiftSettings: fast),

        .executableTarget(name: "lathe", dependencies: ["LatheCLI", "LatheData", "LatheIO", argumentParser],
                          swiftSettings: fast),
    ] + stages.map {
        .executableTarget(name: $0, dependencies: ["LatheCLI", "LatheIO", argumentParser] + (stageLibraries[$0] ?? []),
                          swiftSettings: fast)
    } + [
        // Bench-only (bench/train.sh): times training steps; not a product.
        .executableTarget(name: "bench-train", dependencies: ["LatheModel", "LatheTensor", "LatheTrain"], path: "bench/bench-train",
                          swiftSettings: fast),
        .testTarget(name: "LatheIOTests", dependencies: ["LatheIO"]),
        .testTarget(name: "LatheDataTests", dependencies: ["LatheData", "LatheIO"]),
        .testTarget(name: "LatheCLITests", dependencies: ["LatheCLI", "LatheIO", "LatheModel", "LatheTokenizer"]),
        .testTarget(name: "LatheTextTests", dependencies: ["LatheText", "LatheIO"]),
        .testTarget(name: "LatheDedupeTests", dependencies: ["LatheDedupe", "LatheIO"]),
        .testTarget(name: "LatheTokenizerTests", dependencies: ["LatheTokenizer", "LatheIO"]),
        .testTarget(name: "LatheTensorTests", dependencies: ["LatheTensor"]),
        .testTarget(name: "LatheModelTests", dependencies: ["LatheModel", "LatheTensor", "LatheIO", "LatheTokenizer"]),
        .testTarget(name: "LatheEvalTests", dependencies: ["LatheEval", "LatheTrain", "LatheModel", "LatheTensor", "LatheTokenizer", "LatheData", "LatheIO"]),
        .testTarget(name: "LatheTrainTests", dependencies: ["LatheTrain", "LatheModel", "LatheTensor", "LatheTokenizer", "LatheData", "LatheIO"]),
    ]
)
