#pragma once
// The three Nexmark event types, as plain structs of numbers and string views.
//
// Fields are the Nexmark schema's (nexmark-flink .../model/Person.java, Auction.java, Bid.java
// and the `person`, `auction`, `bid` tables of its DDL), in snake_case: emailAddress ->
// email_address, creditCard -> credit_card, itemName -> item_name, initialBid -> initial_bid,
// dateTime -> date_time_ms. Times are epoch milliseconds (the reference's TIMESTAMP(3));
// prices are integer cents-like units (the reference's BIGINT price, 100 .. 100'000'000).
//
// Lifetime: string views point into memory owned by the generator that produced the event (or
// into process-wide immutable tables); they stay valid until that generator's next call to
// Next()/Generate(), or until it is moved or destroyed, whichever comes first. Copy the bytes
// to keep them longer.

#include <cstdint>
#include <string_view>

#include "runtime/connectors/nexmark/generator_config.h"

namespace sluice::connectors::nexmark {

struct Person {
  int64_t id = 0;                  // kFirstPersonId + 0, 1, 2, ... in event order
  std::string_view name;           // "First Last" from small fixed lists
  std::string_view email_address;  // "<0..6>@<0..4>.com": lowercase letters, inner spaces
  std::string_view credit_card;    // "dddd dddd dddd dddd"
  std::string_view city;           // one of 10 US cities
  std::string_view state;          // one of AZ, CA, ID, OR, WA, WY
  int64_t date_time_ms = 0;        // event time
  std::string_view extra;          // lowercase padding up to avg_person_byte_size
};

struct Auction {
  int64_t id = 0;                // kFirstAuctionId + 0, 1, 2, ... in event order
  std::string_view item_name;    // 0..19 chars: lowercase letters and inner spaces
  std::string_view description;  // 0..99 chars: lowercase letters and inner spaces
  int64_t initial_bid = 0;       // a price (see Bid::price)
  int64_t reserve = 0;           // initial_bid + another price
  int64_t date_time_ms = 0;      // event time
  int64_t expires_ms = 0;        // date_time_ms + [1, 2 x in-flight horizon]
  int64_t seller = 0;            // a person id
  int64_t category = 0;          // kFirstCategoryId + [0, kNumCategories)
  std::string_view extra;        // lowercase padding up to avg_auction_byte_size
};

struct Bid {
  int64_t auction = 0;       // an auction id
  int64_t bidder = 0;        // a person id
  int64_t price = 0;         // round(100 * 10^(6u)), u uniform in [0, 1): 100 .. 100'000'000
  std::string_view channel;  // "Google", "Facebook", "Baidu", "Apple" or "channel-<0..9999>"
  std::string_view url;      // "https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1[&...]"
  int64_t date_time_ms = 0;  // event time
  std::string_view extra;    // lowercase padding up to avg_bid_byte_size
};

// One generated event. Only the member named by `kind` is filled in; the other two hold
// whatever an earlier event left there.
struct Event {
  EventKind kind = EventKind::kPerson;
  int64_t event_number = 0;  // position in the whole stream, 0-based (generator_config.h)
  // Event time, epoch ms (= the member's date_time_ms). A rate-limited source emits the event
  // at wall-clock time start_ms + (timestamp_ms - base_time_ms), as the reference's
  // NextEvent.wallclockTimestamp.
  int64_t timestamp_ms = 0;
  Person person;
  Auction auction;
  Bid bid;
};

}  // namespace sluice::connectors::nexmark
