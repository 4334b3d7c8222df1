{
  # Lives at the package root so that `npm install` / `npm ci` / `npm rebuild` run `node-gyp rebuild` implicitly
  # (offline: npm passes its `nodedir`, so node-gyp uses the installed Node headers instead of downloading them).
  "targets": [
    {
      "target_name": "sentinel_native",
      "sources": ["native/src/sentinel.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      }
    }
  ]
}
