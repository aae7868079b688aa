// A trie over bytes whose nodes carry one int32 value (-1 = none): the longest-match structure
// behind added-token matching and Unigram's lattice. Children are kept sorted by byte, so a node
// costs one small vector and a lookup is a binary search.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace ziq::tok {

class ByteTrie {
 public:
  static constexpr int32_t kRoot = 0;

  ByteTrie() : nodes_(1) {}

  // The node reached by `key` from the root, created with its path when missing.
  int32_t insert(std::string_view key) {
    int32_t at = kRoot;
    for (char ch : key) {
      auto b = static_cast<uint8_t>(ch);
      auto& kids = nodes_[size_t(at)].children;
      auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{-1}));
      if (it != kids.end() && it->first == b) {
        at = it->second;
      } else {
        auto child = int32_t(nodes_.size());
        kids.insert(it, {b, child});
        nodes_.emplace_back();
        at = child;
      }
    }
    return at;
  }

  // The child of `node` along byte `b`, or -1.
  int32_t child(int32_t node, uint8_t b) const {
    const auto& kids = nodes_[size_t(node)].children;
    auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{-1}));
    return it == kids.end() || it->first != b ? -1 : it->second;
  }

  int32_t& value(int32_t node) { return nodes_[size_t(node)].value; }
  int32_t value(int32_t node) const { return nodes_[size_t(node)].value; }
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t value = -1;
  };
  std::vector<Node> nodes_;
};

}  // namespace ziq::tok
