// A value or the reason there is none: the C++23 std::expected shape, for a
// C++20 build. Used where a parse or a setup step can fail, so that failures
// travel as typed values instead of exceptions or bare int codes.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace xdpsec::control {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
    return {std::forward<E>(e)};
}

template <class X>
inline constexpr bool is_unexpected_v = false;
template <class E>
inline constexpr bool is_unexpected_v<Unexpected<E>> = true;

template <class T, class E>
class [[nodiscard]] Expected {
public:
    // From anything a T can be made of, as std::expected allows.
    template <class U = T>
        requires(!is_unexpected_v<std::remove_cvref_t<U>> &&
                 !std::is_same_v<std::remove_cvref_t<U>, Expected> && std::is_constructible_v<T, U &&>)
    Expected(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}
    template <class G>
        requires std::is_constructible_v<E, G&&>
    Expected(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const E& error() const { return std::get<1>(v_); }

private:
    std::variant<T, E> v_;
};

}  // namespace xdpsec::control
